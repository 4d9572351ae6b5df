#!/usr/bin/env bash
# Download one of the reference CycleGAN data sets into data/NAME (the reference layout:
# trainA/ trainB/ testA/ testB/). Needs internet; offline it fails and says what to put where.
set -euo pipefail
NAME="${1:-}"
SETS="apple2orange summer2winter_yosemite horse2zebra monet2photo cezanne2photo ukiyoe2photo vangogh2photo maps cityscapes facades iphone2dslr_flower mini mini_pix2pix mini_colorization ae_photos"
if [[ -z "$NAME" || " $SETS " != *" $NAME "* ]]; then
  echo "usage: $0 NAME   with NAME one of: $SETS" >&2
  exit 2
fi
DEST="data/$NAME"
URL="http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/$NAME.zip"
ZIP="data/$NAME.zip"
mkdir -p data
if ! curl -fL --connect-timeout 20 -o "$ZIP" "$URL"; then
  rm -f "$ZIP"
  cat >&2 <<MSG
error: could not download $URL (no internet here?).
Fetch $NAME.zip on a machine with internet access from
  $URL
and unpack it so that these folders exist:
  $DEST/trainA  $DEST/trainB  $DEST/testA  $DEST/testB
Then train with: python tools/train.py configs/cyclegan_$NAME.py
MSG
  exit 1
fi
unzip -q -o "$ZIP" -d data
rm -f "$ZIP"
echo "data set ready in $DEST"

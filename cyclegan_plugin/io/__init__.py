"""Reading and writing files: the one image reader, the one atomic writer, the one
checkpoint-file loader and the one gallery writer; everything else calls these."""
from .checkpoints import (CheckpointError, CheckpointNotFoundError, load_checkpoint_file,
                          newest_loadable_checkpoint)
from .files import AtomicLocalBackend, atomic_write, remove_interrupted_writes
from .gallery import write_gallery, write_preview
from .images import (IMG_EXTENSIONS, WRITABLE_EXTENSIONS, BadImageError, decode_image,
                     encode_image, encode_png, is_image_file, list_images, read_image)

__all__ = ['IMG_EXTENSIONS', 'WRITABLE_EXTENSIONS', 'AtomicLocalBackend', 'BadImageError', 'CheckpointError',
           'CheckpointNotFoundError', 'atomic_write', 'decode_image', 'encode_image', 'encode_png',
           'is_image_file', 'list_images', 'load_checkpoint_file', 'newest_loadable_checkpoint',
           'read_image', 'remove_interrupted_writes', 'write_gallery', 'write_preview']

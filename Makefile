# Two commands: `make demo` (install, build the demo data, train, translate, report) and
# `make test` (install, run the test suite). Both install into .venv on first use.
PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip
# a CPU build that lies on the project's machines; on a GPU machine install your CUDA torch
# into .venv first (any torch>=2.0 already there is kept)
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed
DEMO_DATA := data/mini_horse2zebra
DEMO_WORK := work_dirs/mini_horse2zebra
DEMO_CONFIG := configs/cyclegan_mini_horse2zebra.py

.PHONY: install demo demo-data test clean

install: $(STAMP)

$(STAMP): setup.py Makefile
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -c "import torch" 2>/dev/null || $(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q "setuptools>=77.0.3,<81"
	$(PIP) install -q "mmengine==0.10.7" "mmcv-lite==2.2.0" "numpy>=2,<2.5" scipy \
		scikit-image pytest pytest-xdist onnx onnxruntime
	$(PIP) install -q --force-reinstall --no-deps "opencv-python-headless==5.0.0.93"
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(VPY) -c "import cyclegan_plugin, cv2, mmcv, mmengine, torch; print('installed: torch', torch.__version__, '| mmengine', mmengine.__version__, '| mmcv', mmcv.__version__, '| cv2', cv2.__version__)"
	touch $(STAMP)

demo-data: $(STAMP)
	$(VPY) tools/make_demo_data.py --out $(DEMO_DATA)

demo: demo-data
	$(VPY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_WORK)
	$(VPY) tools/test.py $(DEMO_CONFIG) "$$(cat $(DEMO_WORK)/last_checkpoint)" \
		--work-dir $(DEMO_WORK) --json $(DEMO_WORK)/test_metrics.json
	@echo
	@echo "Open $(DEMO_WORK)/translations/index.html: real_A | fake_B (striped?) | rec_A | real_B | fake_A | rec_B"

# the suite in TEST_WORKERS processes (pytest-xdist), one torch thread each; the slowest tests
# are listed at the end
TEST_WORKERS ?= 2
test: $(STAMP)
	$(VPY) -m pytest -q -n $(TEST_WORKERS) --durations=15

clean:
	rm -rf $(VENV) work_dirs build *.egg-info cyclegan_plugin/.mim

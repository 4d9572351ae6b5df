"""Install cyclegan-plugin. Our configs travel inside the package twice: in MMEngine's pure-Python
style (cyclegan_plugin/configs, importable by any host config with read_base()) and as text (the
OpenMMLab convention cyclegan_plugin/.mim/configs, for mim).

torch is required as a range that any recent user build satisfies, so installing us never
replaces a CUDA torch the user already has.
"""
import os
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))


def _version():
    scope = {}
    with open(os.path.join(HERE, 'cyclegan_plugin', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


def _copy_configs_into_package():
    """Mirror configs/ (and tools/) into cyclegan_plugin/.mim, as mim-installable packages do."""
    mim = os.path.join(HERE, 'cyclegan_plugin', '.mim')
    for name in ('configs', 'tools'):
        src, dst = os.path.join(HERE, name), os.path.join(mim, name)
        if not os.path.isdir(src):
            continue
        if os.path.islink(dst) or os.path.isfile(dst):
            os.remove(dst)
        elif os.path.isdir(dst):
            shutil.rmtree(dst)
        os.makedirs(mim, exist_ok=True)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__'))


class BuildPy(build_py):
    def run(self):
        _copy_configs_into_package()
        super().run()


_copy_configs_into_package()

setup(
    name='cyclegan-plugin',
    version=_version(),
    description='CycleGAN (Zhu et al., ICCV 2017) as MMEngine components',
    long_description=open(os.path.join(HERE, 'README.md')).read()
    if os.path.exists(os.path.join(HERE, 'README.md')) else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['cyclegan_plugin', 'cyclegan_plugin.*']),
    include_package_data=True,
    package_data={'cyclegan_plugin': ['.mim/configs/**/*.py', '.mim/configs/*.py',
                                      '.mim/tools/*.py', '.mim/tools/*.sh']},
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.0',
        'mmengine>=0.10.4,<0.11',
        'mmcv-lite>=2.0',
        'numpy',
        'scipy',
        'opencv-python-headless',
    ],
    extras_require={
        'demo': ['scikit-image'],
        'onnx': ['onnx', 'onnxruntime'],
        'tests': ['pytest'],
    },
    cmdclass={'build_py': BuildPy},
    license='BSD-3-Clause',
)

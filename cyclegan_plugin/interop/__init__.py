from ..io import CheckpointError
from .detect import load_generator_checkpoint, read_model_state, read_networks
from .layout import detect_layout, infer_generator_config, infer_model_config
from .mmagic import mmagic_to_ours, ours_to_mmagic
from .reference import (REFERENCE_TO_OURS, clean_reference_state_dict, ours_to_reference,
                        reference_to_ours)

__all__ = ['CheckpointError', 'REFERENCE_TO_OURS', 'clean_reference_state_dict',
           'detect_layout', 'infer_generator_config', 'infer_model_config',
           'load_generator_checkpoint', 'mmagic_to_ours', 'ours_to_mmagic',
           'ours_to_reference', 'read_model_state', 'read_networks', 'reference_to_ours']

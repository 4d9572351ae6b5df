from .reference import (REFERENCE_TO_OURS, clean_reference_state_dict, ours_to_reference,
                        reference_to_ours)

__all__ = ['REFERENCE_TO_OURS', 'clean_reference_state_dict', 'ours_to_reference',
           'reference_to_ours']

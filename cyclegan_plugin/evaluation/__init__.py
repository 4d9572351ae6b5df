from .cycle_metric import CycleConsistencyMetric
from .fid import (extract_folder_features, frechet_distance, inception_score,
                  kernel_inception_distance, load_stats, save_stats)
from .inception import FIDInceptionV3, load_inception
from .metrics import TranslationFID, TranslationFIDKID, TranslationKID

__all__ = ['CycleConsistencyMetric', 'FIDInceptionV3',
           'TranslationFID', 'TranslationFIDKID', 'TranslationKID', 'extract_folder_features',
           'frechet_distance', 'inception_score', 'kernel_inception_distance',
           'load_inception', 'load_stats', 'save_stats']

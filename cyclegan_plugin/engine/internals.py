"""The MMEngine and PyTorch internals exact resume relies on, each behind one function.

MMEngine replays the data of the iterations already done by calling ``next()`` on its train
loop's iterator once per iteration; skipping that replay without reading the data needs the
DataLoader's private index stepping (``_next_index``, ``_num_yielded``) and MMEngine's
private ``_InfiniteDataloaderIterator``. :func:`check` names any of them that a torch or
MMEngine upgrade moved (the tests call it), and every function here falls back to the
documented path (reading the data) when they are missing.
"""
from typing import List

try:
    from mmengine.runner.loops import _InfiniteDataloaderIterator
except ImportError:  # pragma: no cover - moved by an MMEngine upgrade: see check()
    _InfiniteDataloaderIterator = None
try:
    from torch.utils.data.dataloader import _DatasetKind, _SingleProcessDataLoaderIter
except ImportError:  # pragma: no cover - moved by a torch upgrade: see check()
    _DatasetKind = _SingleProcessDataLoaderIter = None

#: (where, attribute) of every private name used here
USED = (('mmengine.runner.loops', '_InfiniteDataloaderIterator'),
        ('mmengine.runner.loops._InfiniteDataloaderIterator', '_iterator (instance)'),
        ('torch.utils.data.dataloader', '_SingleProcessDataLoaderIter'),
        ('torch.utils.data.dataloader', '_DatasetKind'),
        ('torch.utils.data.dataloader._BaseDataLoaderIter', '_next_index'),
        ('torch.utils.data.dataloader._BaseDataLoaderIter', '_num_yielded (instance)'),
        ('torch.utils.data.dataloader._BaseDataLoaderIter', '_dataset_kind (instance)'))


def missing() -> List[str]:
    """The private names of :data:`USED` that this torch / MMEngine no longer has."""
    import torch.utils.data as data
    gone = []
    if _InfiniteDataloaderIterator is None:
        gone.append('mmengine.runner.loops._InfiniteDataloaderIterator')
    if _SingleProcessDataLoaderIter is None or _DatasetKind is None:
        gone.append('torch.utils.data.dataloader._SingleProcessDataLoaderIter / _DatasetKind')
        return gone
    it = iter(data.DataLoader(range(2)))
    for name in ('_next_index', '_num_yielded', '_dataset_kind'):
        if not hasattr(it, name):
            gone.append(f'torch.utils.data.dataloader._BaseDataLoaderIter.{name}')
    if _InfiniteDataloaderIterator is not None:
        wrapper = _InfiniteDataloaderIterator(data.DataLoader(range(2)))
        if not hasattr(wrapper, '_iterator'):
            gone.append('mmengine.runner.loops._InfiniteDataloaderIterator._iterator')
    return gone


def reads_in_this_process(iterator) -> bool:
    """Whether ``iterator`` is MMEngine's infinite iterator over a loader that reads a
    map-style data set in this process (``num_workers=0``): then its sampler can be stepped
    without reading the data."""
    if _InfiniteDataloaderIterator is None or _SingleProcessDataLoaderIter is None:
        return False
    inner = getattr(iterator, '_iterator', None)
    return (isinstance(iterator, _InfiniteDataloaderIterator)
            and isinstance(inner, _SingleProcessDataLoaderIter)
            and getattr(inner, '_dataset_kind', None) == _DatasetKind.Map
            and hasattr(inner, '_next_index') and hasattr(inner, '_num_yielded'))


def advance_sampler(iterator) -> bool:
    """Take the next batch of indices without fetching it, as ``next()`` would have. False at
    the end of the sampler's epoch: the caller then reads the batch, which lets MMEngine's
    iterator start the next epoch its own way."""
    inner = iterator._iterator
    try:
        inner._next_index()
    except StopIteration:
        return False
    inner._num_yielded += 1
    return True

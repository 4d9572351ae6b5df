"""On resume the data order moves past the iterations already done without reading them
(single-process loaders) and lands where reading them would have: same next batches, same
random draws. With workers it reads them, as MMEngine does."""
import random

import pytest
import torch
from mmengine.dataset import DefaultSampler, InfiniteSampler
from mmengine.runner import loops
from torch.utils.data import DataLoader, Dataset

from cyclegan_plugin.engine import get_random_states
from cyclegan_plugin.engine.hooks.random_state import _ResumedDataIterator

DONE, NEXT = 5, 3  # iterations before the checkpoint, and after it


class CountingDataset(Dataset):
    """Items draw from Python's ``random`` as our pipelines do; reads are counted."""

    def __init__(self, size=5):
        self.size, self.reads = size, 0

    def __len__(self):
        return self.size

    def __getitem__(self, idx):
        self.reads += 1
        return dict(idx=idx, draw=random.random())


def infinite_iterator(sampler_type, num_workers=0):
    dataset = CountingDataset()
    sampler = sampler_type(dataset, shuffle=True, seed=3)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler, num_workers=num_workers)
    return dataset, loops._InfiniteDataloaderIterator(loader)


def as_lists(batches):
    return [{k: v.tolist() for k, v in b.items()} for b in batches]


def items(batches):
    return sum(len(b['idx']) for b in batches)


def uninterrupted(sampler_type, num_workers=0):
    """The batches after DONE iterations, and the random states at the checkpoint."""
    random.seed(0)
    torch.manual_seed(0)
    _, iterator = infinite_iterator(sampler_type, num_workers)
    for _ in range(DONE):
        next(iterator)
    states = get_random_states()
    return as_lists(next(iterator) for _ in range(NEXT)), states


def resumed(sampler_type, states, num_workers=0):
    random.seed(1)  # whatever the new process has drawn: the checkpoint's states win
    torch.manual_seed(0)
    dataset, inner = infinite_iterator(sampler_type, num_workers)
    iterator = _ResumedDataIterator(inner, DONE, states)
    for _ in range(DONE):  # what IterBasedTrainLoop does on resume
        next(iterator)
    return as_lists(next(iterator) for _ in range(NEXT)), dataset, iterator


@pytest.fixture
def no_epoch_pause(monkeypatch):
    """MMEngine's iterator sleeps 2 s when a finite sampler starts a new epoch."""
    monkeypatch.setattr(loops.time, 'sleep', lambda seconds: None)


def test_infinite_sampler_skips_reading_and_lands_in_place():
    expected, states = uninterrupted(InfiniteSampler)
    batches, dataset, iterator = resumed(InfiniteSampler, states)
    assert iterator._skip and batches == expected
    assert dataset.reads == items(batches)  # only the batches trained on were read


def test_finite_sampler_starts_its_next_epoch_as_mmengine_does(no_epoch_pause):
    # 5 items in batches of 2: 3 batches per epoch, so the DONE=5 passes an epoch's end
    expected, states = uninterrupted(DefaultSampler)
    batches, dataset, _ = resumed(DefaultSampler, states)
    assert batches == expected
    # and the first batch of the epoch the replay entered, read to start that epoch
    assert dataset.reads == items(batches) + 2


def test_with_workers_the_data_are_read():
    expected, states = uninterrupted(InfiniteSampler, num_workers=1)
    batches, _, iterator = resumed(InfiniteSampler, states, num_workers=1)
    assert not iterator._skip and batches == expected

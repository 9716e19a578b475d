"""The chaos test (`make chaos`): a model of Skimmer's books, a generator of billing events, a
runner that breaks QBO, the worker and Temporal while they run, and a checker of QBO's books."""

"""Orchestration: linting paths, the tree run, workers, cache, single files, fixing files."""

"""From a path to decoded text: discovery, reading, notebooks, the prefilter."""

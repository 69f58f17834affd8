"""The pieces of `segmentation report`: one builder per page section (segments, campaigns,
models), each reading its mart read-only and returning a :class:`common.Section`."""

"""One module per pane or self-contained widget."""

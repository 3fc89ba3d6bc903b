"""The front office's views, one module per area so that each stays short enough to read."""

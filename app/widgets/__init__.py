"""Small Qt widgets, each bound to the controller's state by signals; no musical logic."""

"""One module per study: config -> run -> results."""

"""Where results are kept: event stores (`events`) and vector collections (`vectors`)."""

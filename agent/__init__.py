"""The conversation engine: model factory, graph, turn runner and the offline engine."""

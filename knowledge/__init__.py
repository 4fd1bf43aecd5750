"""Help-center knowledge: embedder, chunking, ingestion, Chroma store, retrieval with citations."""

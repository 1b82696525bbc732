"""The Textual app. Nothing heavy (torch, lancedb, llama_cpp) is imported from here."""

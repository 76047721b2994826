"""Stage 3: each module writes one edition (HTML, EPUB, PDF) from a Document."""

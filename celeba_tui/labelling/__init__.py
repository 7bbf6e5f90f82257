"""What people label next and how a labelling session records it (no terminal code here)."""

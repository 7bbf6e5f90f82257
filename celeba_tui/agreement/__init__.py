"""Agreement between annotators, their profiles, and merging their labels into one per image."""

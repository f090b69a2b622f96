"""Intent classification: train a versioned model from labelled texts, serve it (with shadow and A/B
versions), compare versions from their events, and route conversations by intent.

- `data`: labelled CSV, its hash, the stratified validation split
- `features`, `model`: hashed TF-IDF n-grams beside sentence embeddings, one linear model, its safe payload
- `training`, `metrics`: fitting, calibration on validation, the figures stored with each version
- `versions`, `serving`, `comparison`, `routing`: a tenant's versions, classification, comparison, routing
"""

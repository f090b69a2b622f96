"""Support intelligence: what Lore learns from a tenant's events and labelled data.

- events: interactions and feedback from clients, and what the server saw (searches, answers), recorded in
  batches; search analytics over them.
- recommendations: related articles and personal recommendations with reasons.
- intents: a trainable, versioned intent classifier, with routing rules and shadow or A/B serving.
- gaps: clusters of questions the knowledge base did not answer well.
- adapters: a linear map on query embeddings, trained from clicks and labelled pairs.

Every model is stored, versioned and activated through the store's `trained_models` repository.
"""

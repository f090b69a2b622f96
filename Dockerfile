# Lore: one image for the API (`lore serve`) and the job workers (`lore worker`).
#   docker build -t lore .
# Settings come from LORE_* variables (docs/configuration.md); see compose.yaml and deploy/kubernetes/.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    LORE_DATA_DIR=/var/lib/lore \
    LORE_MODEL_CACHE_DIR=/opt/lore/models \
    LORE_HOST=0.0.0.0 \
    LORE_PORT=8000

WORKDIR /opt/lore/src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
    && useradd --system --home-dir /var/lib/lore --create-home lore \
    # Build the int8 model variant once, into the image, so no container builds it at start-up.
    && python -c "from lore.config import Settings; from lore.registry import create_embedder; create_embedder(Settings()).embed_query('ready')" \
    && chmod -R a+rX /opt/lore/models

USER lore
WORKDIR /var/lib/lore
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["lore", "serve"]

# The image compose.yaml builds (docs/scaling.md): Townhall with its default intent model
# trained at build time from the labelled posts in data/ (no download at run time).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /opt/townhall

COPY pyproject.toml README.md ./
COPY src ./src
COPY data ./data
COPY examples ./examples
RUN pip install -e . && townhall model train --quiet \
    && useradd --system --home-dir /var/lib/townhall --create-home townhall

USER townhall
ENV TOWNHALL_HOME=/var/lib/townhall
EXPOSE 8000
CMD ["townhall", "serve", "--host", "0.0.0.0", "--port", "8000"]

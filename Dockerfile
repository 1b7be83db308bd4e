# The image of the API and the worker (docker-compose.yml runs both from it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    OFERTA_POLICY_DIR=/app/policies
WORKDIR /app

COPY pyproject.toml README.md ./
COPY oferta ./oferta
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY policies ./policies
COPY worker.py ./
RUN pip install . && useradd --system --uid 10001 --home-dir /app oferta \
    && mkdir -p /var/lib/oferta && chown oferta /var/lib/oferta

USER oferta
EXPOSE 8000 9464
CMD ["oferta", "api", "--host", "0.0.0.0"]

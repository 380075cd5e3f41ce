# One image for the hub API, the worker and the simulators (the command selects which).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY messages messages
COPY adapters adapters
COPY risk risk
COPY refunds refunds
COPY simulators simulators
COPY xsd xsd
COPY config config
RUN pip install --no-cache-dir .
ENV HUB_API_KEYS_FILE=/app/var/parties.yaml
EXPOSE 8000
CMD ["swhub", "serve", "--host", "0.0.0.0", "--port", "8000"]

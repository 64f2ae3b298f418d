# The operator image: `docker build -t rhev-operator .` (no Docker engine runs on our machines;
# the image is for real clusters).
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libxml2 libxslt1.1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-cache-dir .
USER 65532:65532
ENTRYPOINT ["rhev-operator"]
CMD ["run", "--all-namespaces"]

# The operator image: `docker build -t rhev-operator:0.1.0 .` (no Docker engine runs on our
# machines; the image is for real clusters). It holds the operator alone (the root
# pyproject.toml packages only rhev_operator), its runtime dependencies pinned exactly by
# constraints.txt.
#
# Base image: a full version tag. No registry of container images is reachable from where
# this project is built, so no digest could be read from a public source; pin it by digest
# (python:3.11.14-slim-bookworm@sha256:...) where the registry is at hand.
FROM python:3.11.14-slim-bookworm

# lxml and pyghmi ship manylinux wheels; libxml2/libxslt come with lxml's wheel.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY constraints.txt pyproject.toml README.md ./
COPY operator/rhev_operator ./operator/rhev_operator
RUN pip install --no-cache-dir -c constraints.txt . \
    && rm -rf /app/operator /root/.cache

# A non-root user with no home to write to: the Deployment runs it with a read-only root
# filesystem (nothing of the operator writes a file).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["rhev-operator"]
CMD ["run", "--all-namespaces"]

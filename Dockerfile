# One image for every process type: worker, flower, emulator, and one-off producer commands.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY worker ./worker
COPY producers ./producers
COPY emulator ./emulator
COPY bench ./bench
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 1000 jobfleet \
    && mkdir -p /results && chown jobfleet /results
USER jobfleet
ENV JOBFLEET_RESULTS_URL=/results
CMD ["jobfleet", "worker"]

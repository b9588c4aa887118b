# One image for every process type: worker, flower, emulator, and one-off producer commands.
# Built once by compose (the worker service) and reused by every other service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY config ./config
COPY worker ./worker
COPY producers ./producers
COPY emulator ./emulator
COPY bench ./bench
# The same pins as `make install` and CI: what was tested is what runs.
RUN pip install --no-cache-dir -c constraints.txt . \
    && useradd --create-home --uid 1000 jobfleet \
    && mkdir -p /results /jobs && chown jobfleet /results
USER jobfleet
ENV JOBFLEET_RESULTS_URL=/results
CMD ["jobfleet", "worker"]

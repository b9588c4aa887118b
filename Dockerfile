# The production image (the default target): worker, flower and one-off producer commands,
# the runtime only, with the S3 result store. Built once by compose (the worker service).
# `--target dev` adds the emulator, the local fleet and the benchmarks (jobfleet[dev]), for
# compose's demo profile; production never installs them.
FROM python:3.11-slim AS base
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY config ./config
COPY worker ./worker
COPY producers ./producers
COPY monitor ./monitor
RUN useradd --create-home --uid 1000 jobfleet \
    && mkdir -p /results /jobs && chown jobfleet /results
ENV JOBFLEET_RESULTS_URL=/results
CMD ["jobfleet", "worker"]

FROM base AS dev
COPY emulator ./emulator
COPY bench ./bench
COPY devtools ./devtools
RUN pip install --no-cache-dir -c constraints.txt '.[dev]'
USER jobfleet

# Last, so a plain `docker build` makes it. The same pins as `make install` and CI.
FROM base AS runtime
RUN pip install --no-cache-dir -c constraints.txt '.[s3]'
USER jobfleet

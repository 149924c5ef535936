# gralarm container: built and run on Debian bookworm packages only.
#   docker build -t gralarm .
#   docker run -p 2003:2003 -p 2003:2003/udp -p 2080:2080 \
#     -v $PWD/my-gralarm.toml:/etc/gralarm/gralarm.toml:ro gralarm
# A config for containers sets api.listen = "0.0.0.0:2080" with api.token(_file),
# since a non-loopback API address without a token refuses to start.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libuv1-dev libabsl-dev librocksdb-dev prometheus-cpp-dev libcivetweb-dev \
      libfmt-dev libspdlog-dev nlohmann-json3-dev libtomlplusplus-dev \
      libhttp-parser-dev libcurl4-openssl-dev libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY include include
COPY src src
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DGRALARM_BUILD_TESTS=OFF -DGRALARM_BUILD_BENCH=OFF \
 && cmake --build build --target gralarm \
 && strip build/gralarm

FROM debian:bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libuv1 libabsl20220623 libprometheus-cpp-core1.0 libcivetweb1 libspdlog1.10 \
      libfmt9 libssl3 tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/gralarm --create-home --shell /usr/sbin/nologin gralarm
COPY --from=build /src/build/gralarm /usr/local/bin/gralarm
COPY conf/gralarm.toml /etc/gralarm/gralarm.toml
USER gralarm
EXPOSE 2003 2003/udp 2080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/gralarm"]
CMD ["serve", "-c", "/etc/gralarm/gralarm.toml"]

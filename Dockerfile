# gralarm container: built and run on Debian bookworm packages only.
#   docker build -t gralarm .
#   docker run -p 2003:2003 -p 2003:2003/udp -p 2080:2080 \
#     -v $PWD/my-gralarm.toml:/etc/gralarm/gralarm.toml:ro gralarm
# A config for containers sets api.listen = "0.0.0.0:2080" with api.token(_file),
# since a non-loopback API address without a token refuses to start.
# The runtime stage installs the Debian package of tools/package.sh, so its
# Depends (computed by dpkg-shlibdeps) are the one list of runtime libraries;
# tests/packaging/test_package.py checks that they cover `ldd gralarm`.

FROM debian:bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libuv1-dev libabsl-dev librocksdb-dev prometheus-cpp-dev libcivetweb-dev \
      libfmt-dev libspdlog-dev nlohmann-json3-dev libtomlplusplus-dev \
      libhttp-parser-dev libcurl4-openssl-dev libssl-dev \
      libjs-dygraphs \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt README.md ./
COPY include include
COPY src src
COPY conf conf
COPY packaging packaging
COPY tools/package.sh tools/package.sh
RUN bash tools/package.sh --no-install-deps

FROM debian:bookworm-slim
COPY --from=build /src/dist/ /tmp/dist/
# The package's postinst creates the system user gralarm and /var/lib/gralarm;
# it starts the service only where systemd runs, which a build never does.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      /tmp/dist/gralarm_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/dist
USER gralarm
WORKDIR /var/lib/gralarm
EXPOSE 2003 2003/udp 2080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/gralarm"]
CMD ["serve", "-c", "/etc/gralarm/gralarm.toml"]

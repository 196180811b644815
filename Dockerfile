# skywasm in a container: the server binary, the browser SDK it serves at
# /sdk/, and the examples. Build: docker build -t skywasm .
# Run (host networking, so that the SFU's and TURN's UDP ports and relay
# range are the host's; see docs/deploy.md):
#   docker run --network host -v /etc/skywasm:/etc/skywasm:ro skywasm \
#     serve -config /etc/skywasm/config.yaml -tls-cert ... -tls-key ...
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN make build

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/skywasm --shell /usr/sbin/nologin skywasm
COPY --from=build /src/bin/skywasm /usr/local/bin/skywasm
COPY --from=build /src/js /usr/share/skywasm/js
COPY --from=build /src/examples /usr/share/skywasm/examples
USER skywasm
ENV SKYWASM_STATIC=/usr/share/skywasm
ENTRYPOINT ["/usr/local/bin/skywasm"]
CMD ["serve", "-config", "/etc/skywasm/config.yaml"]

import Hummingbird

/// `GET /openapi.json`: Tickplex's own HTTP API as an OpenAPI 3.1 document (the REST routes, the operator routes and
/// the `/ws` upgrade). Written by hand and kept beside the routes; the suite validates it with
/// `openapi-spec-validator` and checks that every path it lists answers on a running node.
enum OpenAPIDocument {
    static let path = "/openapi.json"

    static func register(on router: Router<some RequestContext>) {
        router.get(RouterPath(stringLiteral: path)) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                body: .init(byteBuffer: ByteBuffer(string: json)))
        }
    }

    static let json = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "Tickplex",
            "version": "1",
            "summary": "Market-data WebSocket fan-out proxy for Bybit V5 and Binance",
            "description": "One upstream subscription per stream, fanned out to every client. Prices and sizes are decimal strings. The stream itself is the WebSocket at /ws (see its operation); the REST routes below serve the last quote, candle history and the node's health."
          },
          "servers": [{ "url": "/" }],
          "tags": [
            { "name": "market data" },
            { "name": "operations" }
          ],
          "paths": {
            "/v1/quote/{symbol}": {
              "get": {
                "tags": ["market data"],
                "operationId": "getQuote",
                "summary": "The last ticker of a symbol, never stale",
                "description": "Subscribes upstream on demand when the stream is not flowing yet and waits up to QUOTE_WAIT_MS for the first data; older than QUOTE_MAX_AGE_MS answers 503.",
                "security": [{}, { "bearer": [] }, { "token": [] }],
                "parameters": [
                  { "$ref": "#/components/parameters/Symbol" },
                  { "$ref": "#/components/parameters/Venue" }
                ],
                "responses": {
                  "200": {
                    "description": "The ticker fields at top level, with venue, stream, ts and ageMs",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Quote" } } }
                  },
                  "400": { "$ref": "#/components/responses/BadRequest" },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "429": { "$ref": "#/components/responses/TooMany" },
                  "503": {
                    "description": "Stale, not yet received, or the store is away",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                  }
                }
              },
              "head": {
                "tags": ["market data"],
                "operationId": "headQuote",
                "summary": "As GET, without the body",
                "security": [{}, { "bearer": [] }, { "token": [] }],
                "parameters": [
                  { "$ref": "#/components/parameters/Symbol" },
                  { "$ref": "#/components/parameters/Venue" }
                ],
                "responses": {
                  "200": { "description": "A fresh quote is available" },
                  "404": { "description": "Unknown symbol" },
                  "503": { "description": "Stale or not yet received" }
                }
              }
            },
            "/v1/klines": {
              "get": {
                "tags": ["market data"],
                "operationId": "getKlines",
                "summary": "Closed candles, ascending",
                "description": "From the history of closed candles; a range the history does not hold is filled from the exchange's REST klines. The running candle is appended when it lies in the range.",
                "security": [{}, { "bearer": [] }, { "token": [] }],
                "parameters": [
                  {
                    "name": "symbol", "in": "query", "required": true,
                    "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,30}$" }
                  },
                  {
                    "name": "interval", "in": "query", "required": true,
                    "description": "1m 3m 5m 15m 30m 1h 2h 4h 6h 12h 1d 1w 1M, or Bybit's names (1, 60, D, W, M)",
                    "schema": { "type": "string" }
                  },
                  { "$ref": "#/components/parameters/Venue" },
                  {
                    "name": "from", "in": "query", "description": "Start, ms since 1970 (inclusive)",
                    "schema": { "type": "integer", "minimum": 0 }
                  },
                  {
                    "name": "to", "in": "query", "description": "Start, ms since 1970 (inclusive)",
                    "schema": { "type": "integer", "minimum": 0 }
                  },
                  {
                    "name": "limit", "in": "query",
                    "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 500 }
                  }
                ],
                "responses": {
                  "200": {
                    "description": "The candles",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Klines" } } }
                  },
                  "400": { "$ref": "#/components/responses/BadRequest" },
                  "401": { "$ref": "#/components/responses/Unauthorized" },
                  "404": { "$ref": "#/components/responses/NotFound" },
                  "503": {
                    "description": "The history is away",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                  }
                }
              }
            },
            "/ws": {
              "get": {
                "tags": ["market data"],
                "operationId": "openStream",
                "summary": "The client WebSocket (upgrade)",
                "description": "Send {\"op\":\"subscribe\",\"args\":[\"ticker:BTCUSDT\",\"trade:ETHUSDT@binance.spot\"],\"req_id\":\"1\"}; ops: subscribe, unsubscribe, ping, list. Each message: {\"stream\",\"type\":\"snapshot\"|\"update\",\"seq\",\"data\"}.",
                "security": [{}, { "bearer": [] }, { "token": [] }],
                "responses": {
                  "101": { "description": "Switching protocols: the stream" },
                  "400": { "description": "A malformed upgrade request" },
                  "426": {
                    "description": "A plain GET: the path wants a WebSocket upgrade",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
                  },
                  "401": { "description": "A key or token is required" },
                  "403": { "description": "Origin not allowed" },
                  "429": { "description": "Too many connections from this address" },
                  "503": { "description": "The node is full (MAX_CLIENTS / MAX_CONNECTIONS)" }
                }
              }
            },
            "/ready": {
              "get": {
                "tags": ["operations"],
                "operationId": "getReady",
                "summary": "200 as soon as the server listens",
                "responses": {
                  "200": {
                    "description": "Listening",
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object", "required": ["ok"], "properties": { "ok": { "type": "boolean" } }
                        }
                      }
                    }
                  }
                }
              }
            },
            "/health": {
              "get": {
                "tags": ["operations"],
                "operationId": "getHealth",
                "summary": "Redis, the bus listener, each upstream connection and the catalogue",
                "responses": {
                  "200": {
                    "description": "Healthy",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } }
                  },
                  "503": {
                    "description": "Degraded, with the reasons",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Health" } } }
                  }
                }
              }
            },
            "/stats": {
              "get": {
                "tags": ["operations"],
                "operationId": "getStats",
                "summary": "Clients, subscriptions, streams, upstream state, message rates, drops, the cluster",
                "security": [{}, { "bearer": [] }],
                "responses": {
                  "200": {
                    "description": "The node's figures",
                    "content": { "application/json": { "schema": { "type": "object" } } }
                  },
                  "401": { "$ref": "#/components/responses/Unauthorized" }
                }
              }
            },
            "/metrics": {
              "get": {
                "tags": ["operations"],
                "operationId": "getMetrics",
                "summary": "Prometheus text exposition",
                "security": [{}, { "bearer": [] }],
                "responses": {
                  "200": { "description": "Metrics", "content": { "text/plain": { "schema": { "type": "string" } } } },
                  "401": { "$ref": "#/components/responses/Unauthorized" }
                }
              }
            },
            "/openapi.json": {
              "get": {
                "tags": ["operations"],
                "operationId": "getOpenAPI",
                "summary": "This document",
                "responses": {
                  "200": {
                    "description": "OpenAPI 3.1",
                    "content": { "application/json": { "schema": { "type": "object" } } }
                  }
                }
              }
            },
            "/": {
              "get": {
                "tags": ["operations"],
                "operationId": "getLivePage",
                "summary": "A small live page over /ws",
                "responses": {
                  "200": { "description": "HTML", "content": { "text/html": { "schema": { "type": "string" } } } }
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "bearer": {
                "type": "http", "scheme": "bearer",
                "description": "AUTH_MODE=apikey: an API key; AUTH_MODE=jwt: a JWT; ADMIN_TOKEN for /stats and /metrics"
              },
              "token": { "type": "apiKey", "in": "query", "name": "token" }
            },
            "parameters": {
              "Symbol": {
                "name": "symbol", "in": "path", "required": true,
                "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,30}$" }
              },
              "Venue": {
                "name": "venue", "in": "query", "description": "Default: DEFAULT_VENUE",
                "schema": {
                  "type": "string",
                  "enum": ["bybit.spot", "bybit.linear", "bybit.inverse", "binance.spot", "binance.usdm"]
                }
              }
            },
            "responses": {
              "BadRequest": {
                "description": "A bad parameter, named in the error",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
              },
              "Unauthorized": {
                "description": "A key, token or admin token is required",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
              },
              "NotFound": {
                "description": "Unknown symbol (the exchange's reason)",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
              },
              "TooMany": {
                "description": "The new-stream budget of this client is spent",
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
              }
            },
            "schemas": {
              "Decimal": { "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$" },
              "Level": {
                "type": "object", "required": ["price", "size"],
                "properties": { "price": { "$ref": "#/components/schemas/Decimal" }, "size": { "$ref": "#/components/schemas/Decimal" } }
              },
              "Error": {
                "type": "object", "required": ["error"],
                "properties": { "error": { "type": "string" }, "ageMs": { "type": "integer" } }
              },
              "Quote": {
                "type": "object", "required": ["symbol", "venue", "stream", "ts", "ageMs"],
                "properties": {
                  "symbol": { "type": "string" },
                  "venue": { "type": "string" },
                  "stream": { "type": "string" },
                  "ts": { "type": "integer" },
                  "ageMs": { "type": "integer" },
                  "price": { "$ref": "#/components/schemas/Decimal" },
                  "markPrice": { "$ref": "#/components/schemas/Decimal" },
                  "indexPrice": { "$ref": "#/components/schemas/Decimal" },
                  "high24h": { "$ref": "#/components/schemas/Decimal" },
                  "low24h": { "$ref": "#/components/schemas/Decimal" },
                  "volume24h": { "$ref": "#/components/schemas/Decimal" },
                  "turnover24h": { "$ref": "#/components/schemas/Decimal" },
                  "change24hPercent": { "$ref": "#/components/schemas/Decimal" },
                  "bid": { "$ref": "#/components/schemas/Level" },
                  "ask": { "$ref": "#/components/schemas/Level" },
                  "fundingRate": { "$ref": "#/components/schemas/Decimal" },
                  "nextFundingTime": { "type": "integer" },
                  "openInterest": { "$ref": "#/components/schemas/Decimal" }
                }
              },
              "Candle": {
                "type": "object",
                "required": ["interval", "start", "end", "open", "high", "low", "close", "volume", "closed"],
                "properties": {
                  "interval": { "type": "string" },
                  "start": { "type": "integer" },
                  "end": { "type": "integer" },
                  "open": { "$ref": "#/components/schemas/Decimal" },
                  "high": { "$ref": "#/components/schemas/Decimal" },
                  "low": { "$ref": "#/components/schemas/Decimal" },
                  "close": { "$ref": "#/components/schemas/Decimal" },
                  "volume": { "$ref": "#/components/schemas/Decimal" },
                  "turnover": { "$ref": "#/components/schemas/Decimal" },
                  "closed": { "type": "boolean" }
                }
              },
              "Klines": {
                "type": "object", "required": ["symbol", "venue", "interval", "stream", "candles"],
                "properties": {
                  "symbol": { "type": "string" },
                  "venue": { "type": "string" },
                  "interval": { "type": "string" },
                  "stream": { "type": "string" },
                  "candles": { "type": "array", "items": { "$ref": "#/components/schemas/Candle" } }
                }
              },
              "Health": {
                "type": "object", "required": ["status"],
                "properties": { "status": { "type": "string" }, "reasons": { "type": "array", "items": { "type": "string" } } }
              }
            }
          }
        }
        """#
}

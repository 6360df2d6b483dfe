import { createServer } from "node:http";

/**
 * The ceiling for `npm run bench`: a bare node:http server that reads the request body and
 * answers a fixed IssueCoupon-shaped JSON body, nothing else. Whatever the load generator
 * reaches here, on the same machine, is the most it could show for any HTTP service.
 * Prints its URL on stdout once listening; stops on SIGTERM.
 */
const BODY = JSON.stringify({ couponCode: "듲섎71쵛댛홡", sequence: "1" });
const LENGTH = Buffer.byteLength(BODY);

const server = createServer((req, res) => {
  req.on("data", () => undefined).on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": LENGTH });
    res.end(BODY);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") console.log(`http://127.0.0.1:${address.port}`);
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
process.once("SIGINT", () => server.close(() => process.exit(0)));

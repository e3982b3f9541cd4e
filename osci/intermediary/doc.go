// Package intermediary is an OSCI-Transport 1.2 intermediary simulator for
// tests and demonstrations: it answers OSCI POSTs on any path the way a
// Governikus intermediary does for the passive-addressee (Postfach) scenario.
//
// # What it implements
//
//   - getMessageId (single-use ids "govapp_<digits>"), storeDelivery
//     (implicit or explicit dialog; 9800/9801 for ids not issued or used),
//     initDialog / exitDialog, fetchDelivery (9803 when nothing matches, 3800
//     when more deliveries wait) and fetchProcessCard (9804, 3801).
//   - Mailboxes keyed by the SHA-256 of the addressee's cipher certificate:
//     any client takes part without registration. A fetcher is the holder of
//     the CipherCertificateOriginator of its initDialog (the response is
//     encrypted to it) and sees only deliveries addressed to that certificate
//     and process cards of deliveries it sent or received.
//   - Dialog table with challenge-response and sequence checks (fault 9400),
//     explicit-only orders (feedback 9802), client signature checks (9600
//     unsigned, 9601 invalid). The client's signature is checked against the
//     certificate in its message: the simulator proves possession, not identity.
//   - Process cards stamped at store (Creation), when a delivery is handed
//     out (Forwarding) and at the next order in the same dialog (Reception),
//     with an inspection per certificate of the store.
//   - Deliveries stored on disk as received (content package and attachment
//     octets) under Config.DataDir; responses signed (SupplierSignature) and
//     transport-encrypted to the client; faults unsigned.
//   - Orders change the simulator's state one at a time, but a request's
//     body is read (up to Config.MIME.MaxTotalBytes) before the lock is
//     taken and the answer is spooled and sent after it, as is an injected
//     delay waited out: a client that sends or reads slowly holds up only
//     itself.
//   - Fault injection per order type (Config.Faults): delay, HTTP status,
//     connection dropped mid-body, truncated XML, wrong signature, wrong
//     sequence number, SOAP fault with a given code (before the order is
//     executed, or after it as an attacker on the path could forge it),
//     signed feedback with a given code instead of executing the order.
//   - One Server is one intermediary: its own cipher and signature keys
//     (Config.Cipher, Config.Signature) and data directory. Several run
//     side by side, each behind its own listener, as a sender's and a
//     recipient's intermediaries do.
//
// # What it does not
//
// State lives in memory (the files on disk are for inspection): a
// restarted simulator on the same data directory keeps the stored files
// but knows none of their deliveries, process cards or issued MessageIds;
// no
// forward/mediate/accept/process orders, no chunking, no certificate
// validation beyond the signature math and the validity period.
package intermediary

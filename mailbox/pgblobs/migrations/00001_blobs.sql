-- +goose Up
-- A blob is its chunks (blob_chunks, keyed by the writer's blob id) and,
-- committed last in the same transaction, its row in blobs naming it by
-- its SHA-256. Chunks of an id without a blobs row are never read.
CREATE SEQUENCE blob_ids;
CREATE TABLE blob_chunks (
    blob_id BIGINT NOT NULL,
    idx     INTEGER NOT NULL,
    data    BYTEA NOT NULL,
    PRIMARY KEY (blob_id, idx)
);
-- Documents are mostly compressed already (PDF, images): store the
-- chunks out of line without trying to compress them again.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE blobs (
    sha256     TEXT PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    blob_id    BIGINT NOT NULL UNIQUE,
    size       BIGINT NOT NULL CHECK (size >= 0),
    chunks     INTEGER NOT NULL CHECK (chunks >= 0),
    written_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE blobs;
DROP TABLE blob_chunks;
DROP SEQUENCE blob_ids;

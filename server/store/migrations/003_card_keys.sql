-- A terminal's card working keys from its last sign-on (签到), sealed under
-- the server's key-encryption key like the master key. Every posserver
-- instance checks the terminal's MACs and signs its bank messages with
-- them, whichever instance the terminal signed on through.
CREATE TABLE card_keys (
    terminal_id  TEXT   PRIMARY KEY REFERENCES terminals (id),
    pin_key      TEXT   NOT NULL,
    mac_key      TEXT   NOT NULL,
    signed_on_at BIGINT NOT NULL
);

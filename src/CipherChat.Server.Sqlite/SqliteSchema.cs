namespace CipherChat.Server.Sqlite;

/// <summary>
/// The database schema as an ordered list of migrations. Migration N moves the schema from version
/// N-1 to N; released migrations are never edited, only new ones appended.
/// </summary>
internal static class SqliteSchema
{
    public static readonly string[] Migrations =
    [
        // Version 1: accounts, invites, rooms, memberships and the per-room message log.
        """
        CREATE TABLE users (
            name        TEXT    NOT NULL PRIMARY KEY,
            public_key  BLOB    NOT NULL,
            created_at  INTEGER NOT NULL
        );

        CREATE TABLE invites (
            code_hash   BLOB    NOT NULL PRIMARY KEY,
            created_at  INTEGER NOT NULL,
            used_by     TEXT,
            used_at     INTEGER
        );

        CREATE TABLE rooms (
            id          INTEGER PRIMARY KEY,
            name        TEXT    NOT NULL UNIQUE,
            kind        INTEGER NOT NULL,
            key_check   BLOB,
            last_seq    INTEGER NOT NULL DEFAULT 0,
            created_at  INTEGER NOT NULL
        );

        CREATE TABLE members (
            room_id     INTEGER NOT NULL REFERENCES rooms (id),
            user_name   TEXT    NOT NULL REFERENCES users (name),
            joined_at   INTEGER NOT NULL,
            read_seq    INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (room_id, user_name)
        ) WITHOUT ROWID;

        CREATE INDEX members_by_user ON members (user_name, room_id);

        CREATE TABLE messages (
            room_id           INTEGER NOT NULL REFERENCES rooms (id),
            seq               INTEGER NOT NULL,
            sender            TEXT    NOT NULL,
            client_message_id BLOB    NOT NULL,
            server_time       INTEGER NOT NULL,
            payload           BLOB    NOT NULL,
            PRIMARY KEY (room_id, seq)
        );

        CREATE UNIQUE INDEX messages_dedup ON messages (room_id, sender, client_message_id);
        """,

        // Version 2: MLS rooms. A room's group id, epoch and policy; a member's role (1 = admin);
        // former members of MLS rooms with the last seq they may still read; the epoch each commit
        // started (for answering a retried commit); the key directory; Welcomes waiting for their users.
        """
        ALTER TABLE rooms ADD COLUMN group_id BLOB;
        ALTER TABLE rooms ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE rooms ADD COLUMN admins_only INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE members ADD COLUMN role INTEGER NOT NULL DEFAULT 0;

        CREATE TABLE former_members (
            room_id     INTEGER NOT NULL REFERENCES rooms (id),
            user_name   TEXT    NOT NULL REFERENCES users (name),
            until_seq   INTEGER NOT NULL,
            PRIMARY KEY (room_id, user_name)
        ) WITHOUT ROWID;

        CREATE TABLE commits (
            room_id     INTEGER NOT NULL REFERENCES rooms (id),
            seq         INTEGER NOT NULL,
            new_epoch   INTEGER NOT NULL,
            PRIMARY KEY (room_id, seq)
        ) WITHOUT ROWID;

        CREATE TABLE key_packages (
            id          INTEGER PRIMARY KEY,
            user_name   TEXT    NOT NULL REFERENCES users (name),
            ref         BLOB    NOT NULL,
            data        BLOB    NOT NULL,
            created_at  INTEGER NOT NULL
        );

        CREATE UNIQUE INDEX key_packages_by_ref ON key_packages (user_name, ref);

        CREATE TABLE last_resort_key_packages (
            user_name   TEXT    NOT NULL PRIMARY KEY REFERENCES users (name),
            ref         BLOB    NOT NULL,
            data        BLOB    NOT NULL,
            created_at  INTEGER NOT NULL
        );

        CREATE TABLE welcomes (
            id          INTEGER PRIMARY KEY,
            user_name   TEXT    NOT NULL REFERENCES users (name),
            room        TEXT    NOT NULL,
            from_user   TEXT    NOT NULL,
            welcome     BLOB    NOT NULL,
            join_seq    INTEGER NOT NULL,
            server_time INTEGER NOT NULL
        );

        CREATE UNIQUE INDEX welcomes_by_user ON welcomes (user_name, room, join_seq);
        """,

        // Version 3: a stored message moves its room's last seq on by itself, so that an append is
        // one statement (atomic without a savepoint of its own). Writes that set last_seq first (MLS
        // commits) are unaffected: the trigger only ever moves it forward.
        """
        CREATE TRIGGER messages_advance_room AFTER INSERT ON messages
        BEGIN
            UPDATE rooms SET last_seq = NEW.seq WHERE id = NEW.room_id AND last_seq < NEW.seq;
        END;
        """,

        // Version 4: the duplicate check's index ordered by client message id before sender (the
        // same uniqueness). Clients send time-ordered ids, so a room's new entries land at the end
        // of the index instead of on a random page per sender: a commit of many messages writes a
        // few index pages rather than one per message.
        """
        DROP INDEX messages_dedup;
        CREATE UNIQUE INDEX messages_dedup ON messages (room_id, client_message_id, sender);
        """,
    ];

    public static int LatestVersion => Migrations.Length;
}

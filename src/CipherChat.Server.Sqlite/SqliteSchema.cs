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
    ];

    public static int LatestVersion => Migrations.Length;
}

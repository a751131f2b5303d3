namespace CipherChat.Server.Postgres;

/// <summary>
/// The database schema as an ordered list of migrations. Migration N moves the schema from version
/// N-1 to N; released migrations are never edited, only new ones appended.
/// </summary>
internal static class PostgresSchema
{
    /// <summary>Key of the transaction-scoped advisory lock that serializes migrations between nodes starting together.</summary>
    public const long MigrationLockKey = 0x43_69_70_68_65_72_43_68; // "CipherCh"

    public static readonly string[] Migrations =
    [
        // Version 1: accounts, invites, rooms, memberships and the per-room message log.
        // rooms.last_seq is bumped with UPDATE ... RETURNING in the append transaction: the row lock
        // orders concurrent appends from every node, so seqs stay gap-free. rooms.epoch is for MLS
        // rooms: a commit will be accepted with UPDATE rooms SET epoch = epoch + 1 WHERE id = ... AND
        // epoch = <the sender's epoch>, so exactly one commit per epoch wins across all nodes.
        """
        CREATE TABLE users (
            name        text   NOT NULL PRIMARY KEY,
            public_key  bytea  NOT NULL,
            created_at  bigint NOT NULL
        );

        CREATE TABLE invites (
            code_hash   bytea  NOT NULL PRIMARY KEY,
            created_at  bigint NOT NULL,
            used_by     text,
            used_at     bigint
        );

        CREATE TABLE rooms (
            id          bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name        text     NOT NULL UNIQUE,
            kind        smallint NOT NULL,
            key_check   bytea,
            last_seq    bigint   NOT NULL DEFAULT 0,
            epoch       bigint   NOT NULL DEFAULT 0,
            created_at  bigint   NOT NULL
        );

        CREATE TABLE members (
            room_id     bigint NOT NULL REFERENCES rooms (id),
            user_name   text   NOT NULL REFERENCES users (name),
            joined_at   bigint NOT NULL,
            read_seq    bigint NOT NULL DEFAULT 0,
            PRIMARY KEY (room_id, user_name)
        );

        CREATE INDEX members_by_user ON members (user_name, room_id);

        CREATE TABLE messages (
            room_id           bigint NOT NULL REFERENCES rooms (id),
            seq               bigint NOT NULL,
            sender            text   NOT NULL,
            client_message_id bytea  NOT NULL,
            server_time       bigint NOT NULL,
            payload           bytea  NOT NULL,
            PRIMARY KEY (room_id, seq)
        );

        CREATE UNIQUE INDEX messages_dedup ON messages (room_id, sender, client_message_id);
        """,

        // Version 2: MLS rooms. A room's group id and policy (its epoch exists since version 1); a
        // member's role (1 = admin); former members of MLS rooms with the last seq they may still read;
        // the epoch each commit started (for answering a retried commit); the key directory; Welcomes
        // waiting for their users.
        """
        ALTER TABLE rooms ADD COLUMN group_id bytea;
        ALTER TABLE rooms ADD COLUMN admins_only boolean NOT NULL DEFAULT false;
        ALTER TABLE members ADD COLUMN role smallint NOT NULL DEFAULT 0;

        CREATE TABLE former_members (
            room_id     bigint NOT NULL REFERENCES rooms (id),
            user_name   text   NOT NULL REFERENCES users (name),
            until_seq   bigint NOT NULL,
            PRIMARY KEY (room_id, user_name)
        );

        CREATE TABLE commits (
            room_id     bigint NOT NULL REFERENCES rooms (id),
            seq         bigint NOT NULL,
            new_epoch   bigint NOT NULL,
            PRIMARY KEY (room_id, seq)
        );

        CREATE TABLE key_packages (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_name   text   NOT NULL REFERENCES users (name),
            ref         bytea  NOT NULL,
            data        bytea  NOT NULL,
            created_at  bigint NOT NULL,
            UNIQUE (user_name, ref)
        );

        CREATE TABLE last_resort_key_packages (
            user_name   text   NOT NULL PRIMARY KEY REFERENCES users (name),
            ref         bytea  NOT NULL,
            data        bytea  NOT NULL,
            created_at  bigint NOT NULL
        );

        CREATE TABLE welcomes (
            id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_name   text   NOT NULL REFERENCES users (name),
            room        text   NOT NULL,
            from_user   text   NOT NULL,
            welcome     bytea  NOT NULL,
            join_seq    bigint NOT NULL,
            server_time bigint NOT NULL,
            UNIQUE (user_name, room, join_seq)
        );
        """,
    ];

    public static int LatestVersion => Migrations.Length;
}

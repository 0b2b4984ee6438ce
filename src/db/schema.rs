//! The schema, written once for both backends (see migrations/sqlite and migrations/postgres).

diesel::table! {
    server_settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        username_key -> Text,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        display_name -> Nullable<Text>,
        about -> Nullable<Text>,
        password_hash -> Text,
        role -> Text,
        disabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        message_count -> BigInt,
        reaction_score -> BigInt,
        avatar_url -> Nullable<Text>,
        last_seen_at -> Nullable<Timestamp>,
        hide_presence -> Bool,
        auto_watch -> Bool,
        upload_bytes -> BigInt,
        avatar_files -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        family -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    forums (id) {
        id -> BigInt,
        parent_id -> Nullable<BigInt>,
        kind -> Text,
        title -> Text,
        slug -> Text,
        description -> Nullable<Text>,
        position -> Integer,
        thread_count -> BigInt,
        post_count -> BigInt,
        last_post_id -> Nullable<BigInt>,
        last_thread_id -> Nullable<BigInt>,
        last_post_user_id -> Nullable<BigInt>,
        last_post_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    thread_prefixes (id) {
        id -> BigInt,
        forum_id -> BigInt,
        label -> Text,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    thread_fields (id) {
        id -> BigInt,
        forum_id -> BigInt,
        key -> Text,
        label -> Text,
        description -> Nullable<Text>,
        field_type -> Text,
        options -> Nullable<Text>,
        required -> Bool,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    threads (id) {
        id -> BigInt,
        forum_id -> BigInt,
        user_id -> BigInt,
        title -> Text,
        prefix_id -> Nullable<BigInt>,
        reply_count -> BigInt,
        view_count -> BigInt,
        last_position -> BigInt,
        first_post_id -> Nullable<BigInt>,
        last_post_id -> Nullable<BigInt>,
        last_post_user_id -> Nullable<BigInt>,
        last_post_at -> Timestamp,
        sticky -> Bool,
        locked -> Bool,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        page_version -> BigInt,
        last_annotation_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    cache_versions (name) {
        name -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    thread_field_values (thread_id, field_id) {
        thread_id -> BigInt,
        field_id -> BigInt,
        value_text -> Text,
        value_number -> Nullable<Double>,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        thread_id -> BigInt,
        user_id -> BigInt,
        position -> BigInt,
        body -> Text,
        body_html -> Text,
        body_text -> Text,
        revision -> Integer,
        edit_count -> Integer,
        edited_at -> Nullable<Timestamp>,
        edited_by -> Nullable<BigInt>,
        deleted_at -> Nullable<Timestamp>,
        deleted_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    post_revisions (id) {
        id -> BigInt,
        post_id -> BigInt,
        revision -> Integer,
        body -> Text,
        body_text -> Text,
        editor_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    annotation_w3c (annotation_id) {
        annotation_id -> BigInt,
        data -> Text,
    }
}

diesel::table! {
    annotations (id) {
        id -> BigInt,
        post_id -> BigInt,
        user_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        motivation -> Text,
        body -> Nullable<Text>,
        body_html -> Nullable<Text>,
        tags -> Text,
        visibility -> Text,
        quote_exact -> Nullable<Text>,
        quote_prefix -> Nullable<Text>,
        quote_suffix -> Nullable<Text>,
        start_pos -> Nullable<BigInt>,
        end_pos -> Nullable<BigInt>,
        created_revision -> Integer,
        anchored_revision -> Integer,
        anchor_state -> Text,
        anchor_confidence -> Double,
        reply_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    citations (id) {
        id -> BigInt,
        citing_post_id -> BigInt,
        cited_post_id -> BigInt,
        annotation_id -> Nullable<BigInt>,
        cited_revision -> Integer,
        quoted_text -> Text,
        quote_prefix -> Text,
        quote_suffix -> Text,
        start_pos -> BigInt,
        end_pos -> BigInt,
        current_exact -> Nullable<Text>,
        current_start -> Nullable<BigInt>,
        current_end -> Nullable<BigInt>,
        anchor_state -> Text,
        anchor_confidence -> Double,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    reaction_kinds (id) {
        id -> BigInt,
        key -> Text,
        label -> Text,
        emoji -> Text,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    post_reactions (post_id, kind_id, user_id) {
        post_id -> BigInt,
        user_id -> BigInt,
        kind_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    profile_fields (id) {
        id -> BigInt,
        key -> Text,
        label -> Text,
        field_type -> Text,
        options -> Nullable<Text>,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    profile_values (user_id, field_id) {
        user_id -> BigInt,
        field_id -> BigInt,
        value -> Text,
    }
}

diesel::table! {
    user_groups (id) {
        id -> BigInt,
        name -> Text,
        badge -> Text,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_group_members (user_id, group_id) {
        group_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    ranks (id) {
        id -> BigInt,
        min_messages -> BigInt,
        title -> Text,
    }
}

diesel::table! {
    read_markers (user_id, thread_id) {
        user_id -> BigInt,
        thread_id -> BigInt,
        position -> BigInt,
        annotations_seen_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    thread_watches (user_id, thread_id) {
        user_id -> BigInt,
        thread_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    forum_watches (user_id, forum_id) {
        user_id -> BigInt,
        forum_id -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        actor_id -> Nullable<BigInt>,
        thread_id -> Nullable<BigInt>,
        post_id -> Nullable<BigInt>,
        annotation_id -> Nullable<BigInt>,
        dedupe_key -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
        count -> BigInt,
    }
}

diesel::table! {
    stream_events (id) {
        id -> BigInt,
        user_id -> BigInt,
        event -> Text,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    media_blobs (hash) {
        hash -> Text,
        path -> Text,
        refs -> BigInt,
        size -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        user_id -> BigInt,
        content_type -> Text,
        size -> BigInt,
        width -> Integer,
        height -> Integer,
        display_hash -> Text,
        display_path -> Text,
        display_width -> Integer,
        display_height -> Integer,
        display_size -> BigInt,
        thumb_hash -> Text,
        thumb_path -> Text,
        thumb_width -> Integer,
        thumb_height -> Integer,
        thumb_size -> BigInt,
        used -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    post_attachments (post_id, position) {
        post_id -> BigInt,
        position -> Integer,
        attachment_id -> BigInt,
        caption -> Text,
    }
}

diesel::joinable!(post_attachments -> attachments (attachment_id));
diesel::joinable!(post_attachments -> posts (post_id));
diesel::joinable!(post_reactions -> reaction_kinds (kind_id));
diesel::joinable!(profile_values -> profile_fields (field_id));
diesel::joinable!(user_group_members -> user_groups (group_id));
diesel::joinable!(read_markers -> threads (thread_id));
diesel::joinable!(thread_watches -> threads (thread_id));
diesel::joinable!(forum_watches -> forums (forum_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(annotations -> posts (post_id));
diesel::joinable!(thread_prefixes -> forums (forum_id));
diesel::joinable!(thread_fields -> forums (forum_id));
diesel::joinable!(threads -> forums (forum_id));
diesel::joinable!(thread_field_values -> threads (thread_id));
diesel::joinable!(thread_field_values -> thread_fields (field_id));
diesel::joinable!(posts -> threads (thread_id));
diesel::joinable!(post_revisions -> posts (post_id));
diesel::allow_tables_to_appear_in_same_query!(
    media_blobs,
    attachments,
    post_attachments,
    server_settings,
    users,
    refresh_tokens,
    forums,
    thread_prefixes,
    thread_fields,
    threads,
    thread_field_values,
    posts,
    post_revisions,
    annotations,
    annotation_w3c,
    citations,
    reaction_kinds,
    post_reactions,
    profile_fields,
    profile_values,
    user_groups,
    user_group_members,
    ranks,
    read_markers,
    thread_watches,
    forum_watches,
    notifications,
    stream_events,
    cache_versions,
);

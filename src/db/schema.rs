//! Tables, in the subset of types both backends share (text ids, naive UTC timestamps).

diesel::table! {
    streets (code) {
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    departments (code) {
        code -> Text,
        name -> Text,
        kind -> Text,
        remit -> Text,
    }
}

diesel::table! {
    sectors (code) {
        code -> Text,
        name -> Text,
        primary_department -> Text,
        major_standard -> Nullable<Text>,
    }
}

diesel::table! {
    hazard_categories (code) {
        code -> Text,
        name -> Text,
    }
}

diesel::table! {
    calendar_days (day) {
        day -> Date,
        kind -> Text,
    }
}

diesel::joinable!(sectors -> departments (primary_department));

diesel::table! {
    enterprises (id) {
        id -> Text,
        uscc -> Text,
        name -> Text,
        address -> Text,
        street_code -> Text,
        headcount -> Integer,
        principal_name -> Text,
        principal_mobile -> Text,
        safety_officer_name -> Nullable<Text>,
        safety_officer_mobile -> Nullable<Text>,
        notify_emails -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    enterprise_sectors (enterprise_id, sector_code) {
        enterprise_id -> Text,
        sector_code -> Text,
        position -> Integer,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        email -> Nullable<Text>,
        role -> Text,
        enterprise_id -> Nullable<Text>,
        street_code -> Nullable<Text>,
        department_code -> Nullable<Text>,
        password_hash -> Text,
        active -> Bool,
        must_change_password -> Bool,
        token_version -> Integer,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        last_login_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        revoked_reason -> Nullable<Text>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(enterprise_sectors -> enterprises (enterprise_id));
diesel::joinable!(enterprise_sectors -> sectors (sector_code));
diesel::joinable!(enterprises -> streets (street_code));
diesel::joinable!(users -> enterprises (enterprise_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::table! {
    hazards (id) {
        id -> Text,
        ledger_no -> Nullable<Text>,
        enterprise_id -> Text,
        street_code -> Text,
        primary_department -> Text,
        status -> Text,
        level -> Text,
        handling -> Text,
        suspension -> Text,
        title -> Text,
        description -> Text,
        location -> Text,
        category -> Nullable<Text>,
        source -> Nullable<Integer>,
        discovered_on -> Nullable<Date>,
        content -> Text,
        reporter_id -> Text,
        submitted_by -> Nullable<Text>,
        submitted_at -> Nullable<Timestamp>,
        submitted_on -> Nullable<Date>,
        posted_at -> Nullable<Timestamp>,
        posted_on -> Nullable<Date>,
        deadline -> Nullable<Date>,
        effective_deadline -> Nullable<Date>,
        plan_filed -> Bool,
        plan_acknowledged -> Bool,
        pending_extension -> Nullable<Date>,
        completed_on -> Nullable<Date>,
        acceptance_due_on -> Nullable<Date>,
        cancel_date -> Nullable<Date>,
        listed -> Bool,
        recurrence_of -> Nullable<Text>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        employee_notice -> Bool,
        interview_flagged_on -> Nullable<Date>,
        explanation_owed_on -> Nullable<Date>,
        filed_by_official -> Bool,
    }
}

diesel::table! {
    hazard_sectors (hazard_id, sector_code) {
        hazard_id -> Text,
        sector_code -> Text,
        position -> Integer,
    }
}

diesel::table! {
    hazard_departments (hazard_id, department_code) {
        hazard_id -> Text,
        department_code -> Text,
        is_primary -> Bool,
    }
}

diesel::table! {
    hazard_records (id) {
        id -> Text,
        hazard_id -> Text,
        kind -> Text,
        payload -> Text,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_numbers (year) {
        year -> Integer,
        last_number -> Integer,
    }
}

diesel::table! {
    ledger_entries (seq) {
        seq -> BigInt,
        hazard_id -> Nullable<Text>,
        kind -> Text,
        actor -> Nullable<Text>,
        role -> Nullable<Text>,
        at -> Text,
        payload -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    ledger_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Text,
        prev_hash -> Nullable<Text>,
    }
}

diesel::table! {
    attachments (id) {
        id -> Text,
        hazard_id -> Text,
        kind -> Text,
        caption -> Nullable<Text>,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        taken_at -> Nullable<Timestamp>,
        uploaded_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    listings (hazard_id) {
        hazard_id -> Text,
        level -> Text,
        doc_no -> Text,
        supervising_unit -> Text,
        supervising_department -> Text,
        signed_by -> Text,
        complete_by -> Date,
        plan_file_by -> Date,
        listed_on -> Date,
        listed_by -> Text,
        delivered_by -> Nullable<Text>,
        received_by -> Nullable<Text>,
        received_at -> Nullable<Timestamp>,
        delisted_on -> Nullable<Date>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idem_key) {
        user_id -> Text,
        idem_key -> Text,
        fingerprint -> Text,
        response_status -> Nullable<Integer>,
        response_headers -> Nullable<Text>,
        response_body -> Nullable<Binary>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    job_runs (id) {
        id -> Text,
        job -> Text,
        as_of -> Date,
        trigger -> Text,
        instance -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        outcome -> Text,
        counts -> Text,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    escalations (hazard_id, rule, step) {
        hazard_id -> Text,
        rule -> Text,
        step -> Text,
        anchor -> Date,
        offset_days -> Integer,
        as_of -> Date,
        job_run_id -> Text,
        fired_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        message_id -> Text,
        hazard_ids -> Text,
        job_run_id -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tips (id) {
        id -> Text,
        receipt_hash -> Text,
        status -> Text,
        description -> Text,
        location -> Text,
        occurred_on -> Date,
        street_code -> Nullable<Text>,
        street_routed_by -> Nullable<Text>,
        sector_code -> Nullable<Text>,
        department_code -> Nullable<Text>,
        anonymous -> Bool,
        resolution -> Nullable<Text>,
        hazard_id -> Nullable<Text>,
        duplicate_of -> Nullable<Text>,
        received_on -> Date,
        due_on -> Date,
        resolved_on -> Nullable<Date>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tip_contacts (tip_id) {
        tip_id -> Text,
        name -> Nullable<Text>,
        phone -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tip_events (id) {
        id -> Text,
        tip_id -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        details -> Text,
        note -> Nullable<Text>,
        public_message -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tip_photos (id) {
        id -> Text,
        tip_id -> Text,
        file_name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    tip_challenges_used (nonce) {
        nonce -> Text,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(escalations -> hazards (hazard_id));
diesel::joinable!(hazards -> enterprises (enterprise_id));
diesel::joinable!(hazard_sectors -> hazards (hazard_id));
diesel::joinable!(hazard_departments -> hazards (hazard_id));
diesel::joinable!(hazard_records -> hazards (hazard_id));
diesel::joinable!(attachments -> hazards (hazard_id));
diesel::joinable!(listings -> hazards (hazard_id));
diesel::joinable!(tip_contacts -> tips (tip_id));
diesel::joinable!(tip_events -> tips (tip_id));
diesel::joinable!(tip_photos -> tips (tip_id));

diesel::allow_tables_to_appear_in_same_query!(
    streets,
    departments,
    sectors,
    hazard_categories,
    calendar_days,
    enterprises,
    enterprise_sectors,
    users,
    sessions,
    refresh_tokens,
    hazards,
    hazard_sectors,
    hazard_departments,
    hazard_records,
    attachments,
    listings,
    ledger_numbers,
    ledger_entries,
    ledger_head,
    idempotency_keys,
    job_runs,
    escalations,
    outbox,
    tips,
    tip_contacts,
    tip_events,
    tip_photos,
    tip_challenges_used,
);

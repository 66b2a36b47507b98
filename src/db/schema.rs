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

diesel::allow_tables_to_appear_in_same_query!(
    streets,
    departments,
    sectors,
    hazard_categories,
    calendar_days
);

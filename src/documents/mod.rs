//! Printable documents (文书): plain data in, bytes or a string out.
//!
//! This module does no I/O. The only outside resource is the CJK font
//! `assets/fonts/wqy-microhei.ttf`, compiled into the binary with `include_bytes!`
//! and embedded (subset) into every PDF.
//!
//! - [`notice`]: the 重大事故隐患挂牌督办通知书 (listed-supervision notice), as a
//!   printable HTML page ([`render_notice_html`]) and as an A4 PDF ([`render_notice_pdf`]).

pub mod notice;
mod pdf;

pub use notice::{NoticeData, render_notice_html, render_notice_pdf, try_render_notice_pdf};
pub use pdf::PdfError;

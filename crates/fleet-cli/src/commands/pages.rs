//! Lists read a page at a time with an opaque cursor, read whole for `--all`.

use fleet_client::types;

use crate::exit::Exit;

/// A page of a list that gives the cursor of the next page.
pub trait Page {
    /// The cursor of the next page, taken out; none on the last page.
    fn take_next_cursor(&mut self) -> Option<String>;
    /// Appends the items of the page after this one and takes its cursor.
    fn append(&mut self, next: Self);
}

/// `page` and every page after it, as one page; `fetch` reads the page at a cursor.
pub async fn every_page<P: Page>(
    mut page: P,
    mut fetch: impl AsyncFnMut(String) -> Result<P, Exit>,
) -> Result<P, Exit> {
    while let Some(next) = page.take_next_cursor() {
        let more = fetch(next).await?;
        page.append(more);
    }
    Ok(page)
}

/// Implements [`Page`] for a page type by the field its items are in.
macro_rules! paged_by {
    ($($page:ty => $items:ident),+ $(,)?) => {$(
        impl Page for $page {
            fn take_next_cursor(&mut self) -> Option<String> {
                self.next_cursor.take()
            }

            fn append(&mut self, next: Self) {
                self.$items.extend(next.$items);
                self.next_cursor = next.next_cursor;
            }
        }
    )+};
}

paged_by! {
    types::ServerList => items,
    types::ActionList => items,
    types::WebhookList => items,
    types::WebhookDeliveryList => items,
    types::BillingReport => records,
}

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

impl Page for types::ServerList {
    fn take_next_cursor(&mut self) -> Option<String> {
        self.next_cursor.take()
    }

    fn append(&mut self, next: Self) {
        self.items.extend(next.items);
        self.next_cursor = next.next_cursor;
    }
}

impl Page for types::ActionList {
    fn take_next_cursor(&mut self) -> Option<String> {
        self.next_cursor.take()
    }

    fn append(&mut self, next: Self) {
        self.items.extend(next.items);
        self.next_cursor = next.next_cursor;
    }
}

impl Page for types::WebhookList {
    fn take_next_cursor(&mut self) -> Option<String> {
        self.next_cursor.take()
    }

    fn append(&mut self, next: Self) {
        self.items.extend(next.items);
        self.next_cursor = next.next_cursor;
    }
}

impl Page for types::WebhookDeliveryList {
    fn take_next_cursor(&mut self) -> Option<String> {
        self.next_cursor.take()
    }

    fn append(&mut self, next: Self) {
        self.items.extend(next.items);
        self.next_cursor = next.next_cursor;
    }
}

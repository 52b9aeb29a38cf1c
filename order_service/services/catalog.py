"""Reading SKUs, and loading or updating the catalog from a JSON file (`load-catalog`)."""

import hashlib
import shutil
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from order_service.domain.errors import InsufficientStock, NotFound
from order_service.storage import skus as sku_rows
from order_service.storage.goods import describe_goods_of_sku, goods_id_for
from order_service.storage.stock import adjust_stock
from shared.money import Money

# Pictures load-catalog copies into ORDER_MEDIA_DIR, which the order service serves at /media/.
IMAGE_TYPES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"}
MAX_IMAGE_BYTES = 1024 * 1024
MEDIA_URL = "/media/"


class CatalogEntry(BaseModel):
    id: int | None = Field(None, gt=0)
    name: str = Field(min_length=1, max_length=100)
    price: Money = Field(ge=Decimal("0"))
    stock: int = Field(ge=0)
    goods: str | None = Field(None, min_length=1, max_length=100)
    # Of the goods (shared by its SKUs): a description, and a picture's https:// URL or the
    # path of an image file beside the catalog (copied into the media folder).
    description: str | None = Field(None, min_length=1, max_length=2000)
    image: str | None = Field(None, min_length=1, max_length=500)


def _is_url(image: str) -> bool:
    return image.startswith(("https://", "http://"))


def place_image(image: str, base_dir: Path, media_dir: Path) -> str:
    """The image_url for a catalog's `image`: a URL as it is; a file beside the catalog copied
    into `media_dir` under a name made from its content (a re-run copies nothing new)."""
    if _is_url(image):
        return image
    source = (base_dir / image).resolve()
    if source.suffix.lower() not in IMAGE_TYPES:
        raise ValueError(f"image {image!r}: not a URL nor a {'/'.join(sorted(IMAGE_TYPES))} file")
    if not source.is_file():
        raise ValueError(f"image {image!r}: no such file {source}")
    data = source.read_bytes()
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"image {image!r}: larger than {MAX_IMAGE_BYTES} bytes")
    name = hashlib.sha256(data).hexdigest()[:20] + source.suffix.lower()
    media_dir.mkdir(parents=True, exist_ok=True)
    target = media_dir / name
    if not target.exists():
        partial = target.with_suffix(target.suffix + ".part")
        shutil.copyfile(source, partial)
        partial.replace(target)
    return MEDIA_URL + name


def place_images(entries: list[CatalogEntry], base_dir: Path, media_dir: Path) -> list:
    """Each entry's `image` turned into the URL the storefront loads it from."""
    return [
        entry.model_copy(update={"image": place_image(entry.image, base_dir, media_dir)})
        if entry.image
        else entry
        for entry in entries
    ]


def sku_view(row) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "price": row.price,
        "stock": row.stock,
        "sales": row.sales,
    }


async def list_skus(sessions: async_sessionmaker, offset: int, limit: int) -> dict:
    async with sessions() as session:
        total = await sku_rows.count_skus(session)
        rows = await sku_rows.page_of_skus(session, offset, limit)
    return {"items": [sku_view(row) for row in rows], "total": total}


async def get_sku(sessions: async_sessionmaker, sku_id: int) -> dict:
    async with sessions() as session:
        row = await sku_rows.find_sku(session, sku_id)
    if row is None:
        raise NotFound("sku_not_found", f"There is no sku {sku_id}.", sku_id=sku_id)
    return sku_view(row)


async def _goods_id(session: AsyncSession, entry: CatalogEntry, name: str) -> int:
    return await goods_id_for(session, name, entry.description, entry.image)


async def _upsert(session: AsyncSession, entry: CatalogEntry, set_stock: bool = False) -> str:
    existing = None
    if entry.id is None:  # without an id, a sku of the same name is updated (re-runnable file)
        found = await sku_rows.sku_ids_named(session, entry.name)
        if len(found) == 1:
            entry = entry.model_copy(update={"id": found[0]})
    if entry.id is not None:
        existing = await sku_rows.find_sku(session, entry.id)
    values = {"name": entry.name, "price": entry.price, "stock": entry.stock}
    if existing is not None and entry.id is not None:  # (existing is only found by an id)
        if not set_stock:  # live stock moves with every order: a file must not overwrite it
            del values["stock"]
        if entry.goods:
            values["goods_id"] = await _goods_id(session, entry, entry.goods)
        else:
            await describe_goods_of_sku(session, entry.id, entry.description, entry.image)
        await sku_rows.update_sku(session, entry.id, **values)
        return "updated"
    values["goods_id"] = await _goods_id(session, entry, entry.goods or entry.name)
    if entry.id is not None:
        values["id"] = entry.id
    await sku_rows.insert_sku(session, **values)
    return "created"


async def load_catalog(
    sessions: async_sessionmaker, entries: list[CatalogEntry], set_stock: bool = False
) -> dict[str, int]:
    """Creates or updates every entry in one transaction: a bad file changes nothing.

    The stock of a SKU that exists is left as it is (orders move it) unless `set_stock`.
    """
    counts = {"created": 0, "updated": 0}
    async with sessions() as session, session.begin():
        for entry in entries:
            counts[await _upsert(session, entry, set_stock)] += 1
        await sku_rows.advance_id_sequence(session)
    return counts


async def create_sku(
    sessions: async_sessionmaker, name: str, price, stock: int, goods_name: str | None
) -> dict:
    """A new SKU, of the named goods (made when new) or of a goods of its own name."""
    async with sessions() as session, session.begin():
        goods_id = await goods_id_for(session, goods_name or name)
        sku_id = await sku_rows.insert_sku(
            session, goods_id=goods_id, name=name, price=price, stock=stock
        )
    return await get_sku(sessions, sku_id)


async def update_sku(
    sessions: async_sessionmaker,
    sku_id: int,
    name: str | None = None,
    price=None,
    stock_delta: int | None = None,
) -> dict:
    """Name and price set; stock moved by a delta, atomically, never below zero (409)."""
    async with sessions() as session, session.begin():
        if await sku_rows.find_sku(session, sku_id) is None:
            raise NotFound("sku_not_found", f"There is no sku {sku_id}.", sku_id=sku_id)
        values = {"name": name, "price": price}
        values = {key: value for key, value in values.items() if value is not None}
        if values:
            await sku_rows.update_sku(session, sku_id, **values)
        if stock_delta and not await adjust_stock(session, sku_id, stock_delta):
            raise InsufficientStock(sku_id)
    return await get_sku(sessions, sku_id)

/** Users and aliases: user/devices, user/keys/query, query/directory. The remote's users have no devices. */
import { serverOf } from '../room.ts';
import { json, matrixError, type RouteHandler } from '../routing.ts';

export const userDevices: RouteHandler = (ctx) => {
  const userId = ctx.params.userId;
  if (serverOf(userId) !== ctx.self.serverName) return matrixError(404, 'M_NOT_FOUND', `${userId} is not a user of ${ctx.self.serverName}`);
  return json({ user_id: userId, stream_id: 0, devices: [] });
};

export const userKeysQuery: RouteHandler = (ctx) => {
  const requested = (ctx.body as { device_keys?: unknown } | undefined)?.device_keys;
  if (typeof requested !== 'object' || requested === null) return matrixError(400, 'M_BAD_JSON', 'device_keys must be an object');
  const deviceKeys: Record<string, Record<string, unknown>> = {};
  for (const userId of Object.keys(requested)) deviceKeys[userId] = {};
  return json({ device_keys: deviceKeys, master_keys: {}, self_signing_keys: {} });
};

/** GET /query/directory?room_alias=: aliases registered with `remote.setAlias`. */
export const queryDirectory: RouteHandler = (ctx) => {
  const alias = ctx.query.get('room_alias');
  if (!alias) return matrixError(400, 'M_MISSING_PARAM', 'room_alias is required');
  const roomId = ctx.remote.aliases.get(alias);
  if (!roomId) return matrixError(404, 'M_NOT_FOUND', `alias ${alias} is not known to ${ctx.self.serverName}`);
  return json({ room_id: roomId, servers: [ctx.self.serverName] });
};
